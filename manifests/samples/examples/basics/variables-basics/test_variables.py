import variables


def test_area():
    assert variables.area == 12
