@IMP-04
Feature: Some recipients enrolled, some not
  When only some recipients can read encrypted mail, the client names those
  who cannot and lets the sender choose.

  Background:
    Given Contoso and Fabrikam each run their own key management
    And UserA is enrolled at Contoso
    And UserE is enrolled at Contoso
    And UserC has a mailbox at Fabrikam but is not enrolled

  Scenario: The partial prompt names the recipients who cannot read it
    When UserA sends an encrypted message to UserE and UserC
    Then UserA is told "The following recipients cannot process an encrypted message: userc@fabrikam.example. You can continue with an encrypted message they cannot read, send an unencrypted message, or cancel the operation"
    And the choices offered are "continue encrypted, send unencrypted, cancel"

  Scenario Outline: Each answer to the partial prompt
    When UserA sends an encrypted message to UserE and UserC
    And UserA answers "<answer>"
    Then the outcome is "<outcome>"
    And UserE <e_reads> read the message
    And UserC <c_reads> read the message

    Examples:
      | answer             | outcome   | e_reads | c_reads |
      | continue encrypted | sent      | can     | cannot  |
      | send unencrypted   | sent      | can     | can     |
      | cancel             | cancelled | cannot  | cannot  |
